"""PySide6 viewer: binds to the Qt-free core; no analysis code here."""
