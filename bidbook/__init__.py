"""One escrowed sealed-bid book for every market (compute and attention): abstract models (``bidbook.models``),
the book's lock/place/cancel and tick shape (``bidbook.book``), the staff controller admin (``bidbook.admin``) and the
bid API's shared views and serializer (``bidbook.api``). See docs/architecture.md, "Markets", for adding a market."""
