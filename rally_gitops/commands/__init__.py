"""One module per subcommand: ``add_parser`` registers it, a function named after it does it."""
