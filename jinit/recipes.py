"""Whole-model recipes: reference architectures' initialisation as rules for ``reinit``/``materialize``.

Named recipes take the hyperparameters of the reference's config (transformers'
names); ``huggingface(model.config.to_dict())`` picks the one transformers'
``_init_weights`` uses for that ``model_type``; ``init_state_dict`` draws a
state dict and gives tied keys one array. See docs/recipes.md.
"""

from jinit._src.recipes.huggingface import MODEL_TYPES as MODEL_TYPES
from jinit._src.recipes.huggingface import huggingface as huggingface
from jinit._src.recipes.language import bert as bert
from jinit._src.recipes.language import gpt2 as gpt2
from jinit._src.recipes.language import llama as llama
from jinit._src.recipes.language import llama_torchtitan as llama_torchtitan
from jinit._src.recipes.language import olmo2 as olmo2
from jinit._src.recipes.language import t5 as t5
from jinit._src.recipes.mamba import mamba as mamba
from jinit._src.recipes.recipe import Recipe as Recipe
from jinit._src.recipes.recipe import init_state_dict as init_state_dict
from jinit._src.recipes.vision import resnet as resnet
from jinit._src.recipes.vision import vit as vit

__all__ = [
    "MODEL_TYPES",
    "Recipe",
    "bert",
    "gpt2",
    "huggingface",
    "init_state_dict",
    "llama",
    "llama_torchtitan",
    "mamba",
    "olmo2",
    "resnet",
    "t5",
    "vit",
]
