"""The Text tab's generators: chat and completion with any causal language model."""
