"""Decision tables (DMN-like): typed input and output columns, rules with conditions, a hit
policy; compiled once per version and evaluated in process. Packs ship defaults; process admins
edit drafts, test, activate and roll back versions, every activation audited. Pricing matrices,
price-list defaulting, the enrichment and approval policies and order priority are tables."""
