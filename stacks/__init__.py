"""SageStack infrastructure: configuration, the per-environment Stage, its stacks and constructs."""
