#!/usr/bin/env bash
# make aws-deploy STACK=prod: build and push the image to ECR, run the
# database migrations as a one-off Fargate task, roll the services to the new
# image (the ECS circuit breaker rolls back a bad one), then publish the SPA.
# Needs: pulumi (logged in to your state backend), aws CLI v2 with
# credentials, docker with buildx, node 20.19+.
set -euo pipefail
stack=${STACK:?set STACK, e.g. make aws-deploy STACK=prod}
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
tag=${TAG:-sha-$(git -C "$root" rev-parse --short=12 HEAD)}

pulumi stack select "$stack"
region=$(pulumi config get aws:region)
step() { printf '\n== %s\n' "$*"; }

step "registry"
# On the first run only the repository exists after this; later it is a no-op.
pulumi up --yes --skip-preview --target "urn:pulumi:${stack}::loandesk::aws:ecr/repository:Repository::loandesk"
repo=$(pulumi stack output ecrRepository)
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "${repo%%/*}"

step "image $repo:$tag"
docker buildx build --platform linux/amd64 --target loandesk \
    --build-arg "VERSION=$tag" --build-arg "REVISION=$(git -C "$root" rev-parse HEAD)" \
    --provenance=true --sbom=true -t "$repo:$tag" --push "$root"

step "infrastructure and migrate task definition"
first_deploy=false
if ! pulumi config get loandesk:imageTag >/dev/null 2>&1; then
    first_deploy=true
    pulumi config set loandesk:imageTag "$tag"
fi
pulumi config set loandesk:migrateImageTag "$tag"
pulumi up --yes --skip-preview

step "migrations"
subnets=$(pulumi stack output appSubnets --json | tr -d '[:space:]"[]')
task=$(aws ecs run-task --region "$region" --cluster "$(pulumi stack output cluster)" \
    --task-definition "$(pulumi stack output migrateTaskDefinition)" --launch-type FARGATE \
    --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$(pulumi stack output appSecurityGroup)],assignPublicIp=DISABLED}" \
    --query 'tasks[0].taskArn' --output text)
aws ecs wait tasks-stopped --region "$region" --cluster "$(pulumi stack output cluster)" --tasks "$task"
code=$(aws ecs describe-tasks --region "$region" --cluster "$(pulumi stack output cluster)" --tasks "$task" \
    --query 'tasks[0].containers[0].exitCode' --output text)
[ "$code" = 0 ] || { echo "migrations failed (exit $code): see the /loandesk/migrate log group" >&2; exit 1; }

step "services to $tag"
pulumi config set loandesk:imageTag "$tag"
pulumi up --yes --skip-preview
if $first_deploy; then
    # The first tasks may have started before the schema existed.
    for svc in api worker; do
        aws ecs update-service --region "$region" --cluster "$(pulumi stack output cluster)" --service "$svc" --force-new-deployment >/dev/null
    done
fi
aws ecs wait services-stable --region "$region" --cluster "$(pulumi stack output cluster)" --services api worker

step "single-page app"
(cd "$root/web" && npm ci --no-audit --no-fund && npm run build)
bucket=$(pulumi stack output spaBucket)
aws s3 sync "$root/web/dist/assets" "s3://$bucket/assets" --cache-control "public, max-age=31536000, immutable"
aws s3 sync "$root/web/dist" "s3://$bucket" --exclude "assets/*" --cache-control "no-cache" --delete
aws cloudfront create-invalidation --distribution-id "$(pulumi stack output distributionId)" --paths /index.html >/dev/null

step "done: $(pulumi stack output url)"
