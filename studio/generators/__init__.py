"""Generator backends, one module per modality; none of them imports gradio."""
