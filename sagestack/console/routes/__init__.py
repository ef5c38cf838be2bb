"""The console's pages by group; ``sagestack.console.app`` maps URLs to their handlers."""
