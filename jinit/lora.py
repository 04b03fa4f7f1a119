"""Low-rank adapters: LoRA's factor inits (PEFT's), PiSSA, OLoRA, and a tree transform that adds them."""

from jinit._src.schemes.lora import LoRA as LoRA
from jinit._src.schemes.lora import add_adapters as add_adapters
from jinit._src.schemes.lora import lora as lora
from jinit._src.schemes.lora import olora as olora
from jinit._src.schemes.lora import pissa as pissa

__all__ = [
    "LoRA",
    "add_adapters",
    "lora",
    "olora",
    "pissa",
]
