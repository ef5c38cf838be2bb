"""Scripts the notebook's lifecycle configuration installs on the instance."""
