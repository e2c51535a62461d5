"""Acts that change more than one domain at once, in one transaction (after Zulip's
``zerver/actions/``): they sit above the domains they compose, so no domain has to import a
higher one to keep an invariant that spans two of them."""
