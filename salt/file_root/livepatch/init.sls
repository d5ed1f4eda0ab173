# Example: keep the kernel live patch at a chosen version and wait for its
# transition to finish. Apply with e.g.
#   salt-call state.apply livepatch pillar='{"livepatch": {"version": 3}}'
# Pillar livepatch:version is the package version to roll back to (optional);
# livepatch:timeout the longest wait for the transition, in seconds.
{% set livepatch = salt['pillar.get']('livepatch', {}) %}

{% if livepatch.get('version') is not none %}
livepatch package version:
  klp.patch_version:
    - version: {{ livepatch['version'] | string | yaml_encode }}
    - require_in:
      - klp: livepatch transition finished
{% endif %}

livepatch transition finished:
  klp.transition_ready:
    - timeout: {{ livepatch.get('timeout', 300) | int }}
