"""Voice registration (音声登録): rights sheets, uploads, ingest, duplicates and conflicts."""
