#!/bin/sh
# Writes the limits nginx.conf and default.conf include, from the environment, before nginx
# starts (the image's entrypoint runs every executable /docker-entrypoint.d/*.sh). A value that
# is not what it should be stops the container with a message naming the variable.
#
#   WEB_TRUSTED_PROXIES         CIDRs or addresses of the load balancers in front (their
#                               X-Forwarded-For names the client; not capped per connection)
#   WEB_CONNECTIONS_PER_CLIENT  open connections per client address (64)
#   WEB_REQUESTS_PER_SECOND     requests per second per client (50, burst 100)
#   WEB_FILINGS_PER_MINUTE      filings per minute per client (60, burst 10)
#   WEB_LOGINS_PER_MINUTE       admin logins per minute per client (20, burst 20)
#   WEB_HSTS_MAX_AGE            HSTS max-age, s (0: none; where browsers come over HTTPS)
set -eu
dir=/tmp/nginx
mkdir -p "$dir"

fail() { echo "30-loandesk-limits.sh: $*" >&2; exit 1; }

number() { # name value min max
    case "$2" in ''|*[!0-9]*) fail "$1=\"$2\" is not a whole number" ;; esac
    if [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then fail "$1=$2 is not from $3 to $4"; fi
    echo "$2"
}

conns=$(number WEB_CONNECTIONS_PER_CLIENT "${WEB_CONNECTIONS_PER_CLIENT:-64}" 1 4096)
rps=$(number WEB_REQUESTS_PER_SECOND "${WEB_REQUESTS_PER_SECOND:-50}" 1 100000)
filings=$(number WEB_FILINGS_PER_MINUTE "${WEB_FILINGS_PER_MINUTE:-60}" 1 1000000)
logins=$(number WEB_LOGINS_PER_MINUTE "${WEB_LOGINS_PER_MINUTE:-20}" 1 1000000)
hsts=$(number WEB_HSTS_MAX_AGE "${WEB_HSTS_MAX_AGE:-0}" 0 63072000)
sts="max-age=$hsts"; [ "$hsts" -gt 0 ] || sts=""

: >"$dir/trusted-proxies.geo.new"
ipv4='^([0-9]{1,3}\.){3}[0-9]{1,3}(/([0-9]|[12][0-9]|3[0-2]))?$'
ipv6='^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?$'
for p in $(echo "${WEB_TRUSTED_PROXIES:-}" | tr ',' ' '); do
    echo "$p" | grep -Eq "$ipv4|$ipv6" || fail "WEB_TRUSTED_PROXIES: \"$p\" is not a CIDR or an address"
    echo "$p 1;" >>"$dir/trusted-proxies.geo.new"
done
mv "$dir/trusted-proxies.geo.new" "$dir/trusted-proxies.geo"

echo "limit_conn tcp_per_client $conns;" >"$dir/tcp-limit.conf"
echo "limit_conn http_per_client $conns;" >"$dir/http-limit.conf"
cat >"$dir/request-limits.conf" <<EOF
limit_req_zone \$client_addr zone=per_client:5m rate=${rps}r/s;
limit_req_zone \$filing_key zone=filings:2m rate=${filings}r/m;
limit_req_zone \$login_key zone=logins:2m rate=${logins}r/m;
map \$scheme \$loandesk_hsts { default "$sts"; } # empty: security-headers.conf sends none
EOF
echo "30-loandesk-limits.sh: $conns connections, $rps requests/s, $filings filings/min, $logins logins/min per client; trusted proxies: ${WEB_TRUSTED_PROXIES:-none}; HSTS max-age $hsts s"
