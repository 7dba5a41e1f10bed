"""Pages of the analyses app, one module per page family. Thin: parse, call a
selector or service, render."""
