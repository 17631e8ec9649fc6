"""Serve the studio: ``python app.py`` (see ``python app.py --help`` for the flags)."""

from studio.launch import main

if __name__ == "__main__":
    main()
