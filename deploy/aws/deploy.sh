#!/usr/bin/env bash
# make aws-deploy STACK=prod: push the image to ECR (once per commit: tags are immutable),
# apply the infrastructure, run the database migrations as a one-off Fargate task, roll the
# services to the new image (the ECS circuit breaker and the deployment alarms roll a bad one
# back, and this fails then), then publish the SPA. Safe to run again after any step failed.
# Needs: pulumi (logged in to your state backend), aws CLI v2 with credentials, docker with
# buildx, node 20.19+. IMAGE_DIGEST=sha256:… deploys an image already pushed under TAG (CI
# pushes the image it tested) instead of building one.
set -euo pipefail
stack=${STACK:?set STACK, e.g. make aws-deploy STACK=prod}
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
# shellcheck source=.env
. "$root/.env" # GO_IMAGE, RUNTIME_IMAGE
tag=${TAG:-sha-$(git -C "$root" rev-parse --short=12 HEAD)}
builder=${BUILDER:-loandesk}

pulumi stack select "$stack"
region=$(pulumi config get aws:region)
step() { printf '\n== %s\n' "$*"; }
cluster() { pulumi stack output cluster; }

# A stack without services yet: its first deploy (the program needs an image tag: this one).
first_deploy=false
if ! pulumi stack output cluster >/dev/null 2>&1; then
    first_deploy=true
    pulumi config set loandesk:imageTag "$tag"
else # the services keep what they run until the migrations ran (the committed config's tag may be older)
    pulumi config set loandesk:imageTag "$(pulumi stack output imageTag 2>/dev/null || pulumi config get loandesk:imageTag)"
fi

step "registry"
# On the first run only the repository exists after this; later it is a no-op.
pulumi up --yes --skip-preview --target "urn:pulumi:${stack}::loandesk::aws:ecr/repository:Repository::loandesk"
repo=$(pulumi stack output ecrRepository)
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "${repo%%/*}"

step "image $repo:$tag"
digest=${IMAGE_DIGEST:-}
if [ -z "$digest" ]; then
    # Tags are immutable: a rerun after a later step failed reuses the image.
    digest=$(aws ecr describe-images --region "$region" --repository-name "${repo#*/}" --image-ids "imageTag=$tag" \
        --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true)
fi
case $digest in
sha256:*) echo "$repo:$tag is in the registry ($digest); not building it again" ;;
*)
    # SBOM and provenance attestations need a BuildKit container builder;
    # the default "docker" driver refuses them.
    docker buildx inspect "$builder" >/dev/null 2>&1 || docker buildx create --name "$builder" --driver docker-container >/dev/null
    meta=$(mktemp)
    docker buildx build --builder "$builder" --platform linux/amd64 --target loandesk \
        --build-arg "GO_IMAGE=$GO_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" \
        --build-arg "VERSION=$tag" --build-arg "REVISION=$(git -C "$root" rev-parse HEAD)" \
        --provenance=true --sbom=true -t "$repo:$tag" --push --metadata-file "$meta" "$root"
    digest=$(sed -n 's/.*"containerimage.digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' "$meta")
    rm -f "$meta"
    case $digest in sha256:*) ;; *) echo "the build reported no image digest" >&2; exit 1 ;; esac
    ;;
esac

step "infrastructure and migrate task definition"
# The image exists before any service or task can refer to it. On the first
# deploy the services start on it too; they wait for the schema (migrate,
# next) and are restarted below once it is there.
pulumi config set loandesk:migrateImageTag "$tag"
pulumi up --yes --skip-preview

step "migrations"
subnets=$(pulumi stack output appSubnets --json | tr -d '[:space:]"[]')
task=$(aws ecs run-task --region "$region" --cluster "$(cluster)" \
    --task-definition "$(pulumi stack output migrateTaskDefinition)" --launch-type FARGATE \
    --network-configuration "awsvpcConfiguration={subnets=[$subnets],securityGroups=[$(pulumi stack output appSecurityGroup)],assignPublicIp=DISABLED}" \
    --query 'tasks[0].taskArn' --output text)
# The waiter gives up after 10 minutes; migrations may take longer (an
# index built at 10M requests takes minutes): wait again, up to 30 in all.
for _ in 1 2 3; do
    aws ecs wait tasks-stopped --region "$region" --cluster "$(cluster)" --tasks "$task" && break
done
code=$(aws ecs describe-tasks --region "$region" --cluster "$(cluster)" --tasks "$task" \
    --query 'tasks[0].containers[0].exitCode' --output text)
[ "$code" = 0 ] || { echo "migrations failed (exit $code): see the /loandesk/migrate log group" >&2; exit 1; }

step "services to $tag"
pulumi config set loandesk:imageTag "$tag"
pulumi up --yes --skip-preview
if $first_deploy; then
    # The first tasks may have started before the schema existed.
    for svc in api worker; do
        aws ecs update-service --region "$region" --cluster "$(cluster)" --service "$svc" --force-new-deployment >/dev/null
    done
fi
aws ecs wait services-stable --region "$region" --cluster "$(cluster)" --services api worker
# The waiter passes on the old tasks too when ECS rolled the release back: ours must be the primary.
for svc in api worker; do
    got=$(aws ecs describe-services --region "$region" --cluster "$(cluster)" --services "$svc" --output text \
        --query "services[0].deployments[?status=='PRIMARY'] | [0].[rolloutState, taskDefinition]")
    [ "$got" = "COMPLETED	$(pulumi stack output "${svc}TaskDefinition")" ] || { echo "$svc did not take $tag; ECS rolled it back: $got" >&2; exit 1; }
done

step "single-page app"
(cd "$root/web" && npm ci --no-audit --no-fund && npm run build)
bucket=$(pulumi stack output spaBucket)
aws s3 sync "$root/web/dist/assets" "s3://$bucket/assets" --cache-control "public, max-age=31536000, immutable"
aws s3 sync "$root/web/dist" "s3://$bucket" --exclude "assets/*" --cache-control "no-cache" --delete
aws cloudfront create-invalidation --distribution-id "$(pulumi stack output distributionId)" --paths /index.html >/dev/null

step "done: $(pulumi stack output url) runs $repo@$digest"
