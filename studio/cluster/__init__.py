"""Running the studio's generation on a Ray Serve cluster (``python app.py --ray local|ADDRESS``).

The Gradio process stays the one front end: it validates, answers cache hits, writes recipes and stores results
(``studio/engine.py``). Only the generation step goes to the cluster: one Serve deployment per modality, each
replica with its own generators and memory manager built from the same ``Settings`` (``replica.py``), called
through a ``DeploymentHandle`` that streams progress back and cancels on Stop (``runner.py``). ``config.py`` turns
the flags into a ``ClusterConfig`` without importing Ray; nothing here imports Ray unless ``--ray`` is given.
"""
