"""The server's front door: ASGI middleware and the operator policy that ``studio/launch.py`` wires into Gradio."""
