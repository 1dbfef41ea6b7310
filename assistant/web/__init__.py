"""Iris's local web page: describe an image in any browser, see where the model looked, browse the history.
Served on 127.0.0.1 only, behind a random token; images stay in memory."""
