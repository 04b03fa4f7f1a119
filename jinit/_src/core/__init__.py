"""The protocol and the law: types, the base class, validation, fan arithmetic, moment formulas.

The lowest room: it imports nothing else from ``jinit._src``.
"""
