"""`devprov`: the command-line tool for operators and SREs."""
