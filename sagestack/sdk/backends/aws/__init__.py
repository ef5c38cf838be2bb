"""The AWS backend: training and endpoints on the deployed stacks, found through SSM."""
