"""Other tools' files: face regions in XMP, the RAW+JPEG and Live Photo pairs."""
