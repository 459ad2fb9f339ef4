"""One module per transport a destination can be reached by (FixMyStreet keeps one
``SendReport`` class per transport): each ``send`` makes one attempt of one delivery and
returns the error, or None when the receiver acknowledged it."""
