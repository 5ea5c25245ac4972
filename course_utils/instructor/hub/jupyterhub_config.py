"""JupyterHub configuration of the course (``make hub``; Zero to JupyterHub reuses it, see values.yaml).

The settings (port, users, folders, password) come from the file named by the
environment variable ``COURSE_HUB_SETTINGS`` (``HUB_ROOT/etc/hub.json``,
written by ``python -m course_utils.instructor.hub start``). Lines marked
``REAL DEPLOYMENT`` are the ones a course server changes.
"""

import os
from pathlib import Path

from course_utils.instructor.hub import SETTINGS_ENV, HubSettings, pre_spawn_hook

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

settings = HubSettings.load(os.environ[SETTINGS_ENV])
state = Path(settings.state)

# --- network: 127.0.0.1 only ---------------------------------------------------------------------
# REAL DEPLOYMENT: bind the public port behind TLS (c.JupyterHub.ssl_cert/ssl_key, or a reverse proxy),
# and consider c.JupyterHub.subdomain_host so that each user's server has its own origin.
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.port + 2}"
c.ConfigurableHTTPProxy.command = [str(settings.proxy)]
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every single-user server
c.JupyterHub.cleanup_proxy = True

# --- who may log in ---------------------------------------------------------------------------------
# REAL DEPLOYMENT: the university's authenticator instead, e.g. c.JupyterHub.authenticator_class =
# "ltiauthenticator.lti13.authenticator.LTI13Authenticator" (from the LMS) or an OAuthenticator;
# with LocalProcessSpawner, "pam" checks the Unix users' own passwords. The dummy authenticator with
# one shared password is only for this 127.0.0.1 test deployment.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = settings.password
c.Authenticator.allowed_users = set(settings.users)
c.Authenticator.admin_users = {settings.instructor}

# --- one server per user, as that Unix user ----------------------------------------------------------
# REAL DEPLOYMENT on Kubernetes: KubeSpawner (Zero to JupyterHub) with the course image; the hook
# below runs there unchanged except that the edition is pulled with nbgitpuller or an init container.
c.JupyterHub.spawner_class = "localprocess"
# Spawner.cmd, the environment and the folder of each server are set by the hook, per user.
c.Spawner.default_url = "/lab"
c.Spawner.pre_spawn_hook = pre_spawn_hook
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.mem_limit = "4G"  # enforced by KubeSpawner; informational for LocalProcessSpawner

# The formgrader is an iframe inside JupyterLab. JupyterHub 4.1+ sends `frame-ancestors 'none'`
# for single-user servers (the same-origin mitigation), which blanks it (nbgrader #1870).
# nbgrader's maintainers reverted the frame-ancestors 'self' workaround for that reason (nbgrader
# #1947): we keep the hub's header and the instructor opens the formgrader in its own browser tab,
# /user/<instructor>/formgrader (README "Running the course for a class").
