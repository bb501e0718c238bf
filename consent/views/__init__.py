"""Portal pages (server-rendered): ``employee`` is the employee's /portal, ``officer`` the privacy officer's console.

``consent/urls.py`` routes to the views in each module; ``pages`` holds what they share.
"""
