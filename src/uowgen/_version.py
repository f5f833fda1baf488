"""uowgen's version, which is also the version of the template it renders.

Bump it with every change to what the template renders: a project records the
version that rendered it, and `uowgen sync` merges only against that same template.
"""

__version__ = "0.5.0"
