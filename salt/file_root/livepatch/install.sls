# Install klp from its package repository (zypper on SUSE, dnf on the RHEL
# family) before the other livepatch states need it. Apply with e.g.
#   salt-call state.apply livepatch.install pillar='{"klp": {"repo_url": "https://repo.example.com/klp"}}'
# Pillar klp: repo_url (required), version (VERSION-RELEASE, optional),
# gpgcheck (default true), root (default /).
{% set klp = salt['pillar.get']('klp', {}) %}

klp package installed:
  klp_install.installed:
    - name: klp
    - repo_url: {{ klp.get('repo_url', '') | yaml_encode }}
    - version: {{ klp.get('version', '') | string | yaml_encode }}
    - gpgcheck: {{ klp.get('gpgcheck', True) | yaml_encode }}
    - root: {{ klp.get('root', '/') | yaml_encode }}
