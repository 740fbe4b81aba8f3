# Sourced by tools/bench.sh and tools/trace.sh (from the checkout's root):
# the stack they measure is .env's, with what a measurement needs changed,
# once for both. No submission rate limit (the load would be refused, not
# measured); PostgreSQL with the memory of production's db.t4g.medium.
# shellcheck shell=bash source=.env
. ./.env
export SUBMIT_RATE_LIMIT=0 POSTGRES_MEMORY=4G POSTGRES_SHARED_BUFFERS=1GB
