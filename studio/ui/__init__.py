"""The Gradio UI: one module per tab, assembled by ``studio.ui.app``. UI modules never import torch."""
