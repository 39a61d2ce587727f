"""The reference application: the code only the reference deployment (``__main__.py``) runs.

It uses the library as any user's program does (``resilient_serverless.handlers``), is packaged
by the reference deployment's ``package_function("./app", package_name="app")``, and is never
part of the installed package.
"""
