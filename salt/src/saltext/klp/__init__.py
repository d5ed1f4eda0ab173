"""Salt extension for klp. Salt's loader finds the modules in the `modules/`
and `states/` directories beside this file (see the `salt.loader` entry point)."""
