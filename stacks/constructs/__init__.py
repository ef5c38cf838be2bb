"""Level-3 constructs: one logical unit each (storage, network, roles, notebook, dev box, SDK)."""
