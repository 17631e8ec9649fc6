"""Invisible watermarks: a short payload (studio + recipe) hidden in the pixels of pictures and the samples of
audio, meant to outlive what strips metadata (a screenshot, a re-encode, a resize). ``files.py`` marks and reads
whole files; ``image.py`` and ``audio.py`` are the two methods; ``payload.py`` is what both carry."""
