# pip's index URL for the package mirror, with a fresh CodeArtifact token (12 hours) in it; through
# the codeartifact.api and codeartifact.repositories VPC endpoints (private DNS).
mirror_index_url() {
  local token endpoint
  token="$(aws codeartifact get-authorization-token --domain "__MIRROR_DOMAIN__" \
    --domain-owner "__MIRROR_DOMAIN_OWNER__" --region "__REGION__" \
    --query authorizationToken --output text)" || return 1
  endpoint="$(aws codeartifact get-repository-endpoint --domain "__MIRROR_DOMAIN__" \
    --domain-owner "__MIRROR_DOMAIN_OWNER__" --repository "__MIRROR_REPOSITORY__" \
    --format pypi --region "__REGION__" --query repositoryEndpoint --output text)" || return 1
  printf '%s://aws:%s@%ssimple/\n' "${endpoint%%://*}" "$token" "${endpoint#*://}"
}
