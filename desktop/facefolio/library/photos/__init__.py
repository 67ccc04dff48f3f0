"""Photos as the user browses, searches and exports them."""
