"""syncd: keeps Hemnet in step with a real-estate CRM that can only export files."""

# The one place the version is written: pyproject.toml reads it from here (a literal,
# so neither the build nor `syncd --version` needs importlib.metadata).
__version__ = "0.1.0"
