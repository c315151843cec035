"""The two proposed methods srbench exists to evaluate: DRN-GS and SPNet (SPEC §6).

Each class is registered in-tree with `@register_model` and listed lazily in the model
registry's built-in table, so importing this package is only needed to use them.
"""
