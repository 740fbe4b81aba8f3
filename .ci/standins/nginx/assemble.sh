#!/bin/sh
# Builds the stand-in's root filesystem in $1 from the installed packages.
set -eu
r=$1
mkdir -p "$r/bin" "$r/usr/sbin" "$r/etc/nginx/conf.d" "$r/usr/share/nginx/html" "$r/var/log/nginx" \
    "$r/var/lib/nginx" "$r/tmp" "$r/docker-entrypoint.d" "$r/run"
cp /usr/sbin/nginx "$r/usr/sbin/nginx"
mkdir -p "$r/usr/lib/nginx/modules" "$r/etc/nginx/modules-enabled"
cp /usr/lib/nginx/modules/ngx_stream_module.so "$r/usr/lib/nginx/modules/"
echo 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;' >"$r/etc/nginx/modules-enabled/50-mod-stream.conf"
# The binaries' shared libraries and the dynamic loader, at their own paths.
for lib in $(ldd /usr/sbin/nginx /usr/lib/nginx/modules/ngx_stream_module.so | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\// && $i !~ /:$/) print $i }' | sort -u); do
    mkdir -p "$r$(dirname "$lib")" && cp -L "$lib" "$r$lib"
done
cp /etc/nginx/mime.types /etc/nginx/fastcgi_params /etc/nginx/scgi_params /etc/nginx/uwsgi_params "$r/etc/nginx/"
cp /stage/nginx.conf "$r/etc/nginx/nginx.conf"
cp /stage/default.conf "$r/etc/nginx/conf.d/default.conf"
cp /stage/index.html /stage/50x.html "$r/usr/share/nginx/html/"
cp /stage/docker-entrypoint.sh "$r/docker-entrypoint.sh" && chmod 755 "$r/docker-entrypoint.sh"
cp /bin/busybox "$r/bin/busybox"
/bin/busybox --install -s "$r/bin"
# busybox --install links to its own absolute path; point them inside.
for l in "$r"/bin/*; do [ -L "$l" ] && ln -sf /bin/busybox "$l"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n' > "$r/etc/passwd"
printf 'root:x:0:\nnginx:x:101:nginx\n' > "$r/etc/group"
ln -s /dev/stdout "$r/var/log/nginx/access.log"
ln -s /dev/stderr "$r/var/log/nginx/error.log"
chmod 1777 "$r/tmp"
chown -R 101:0 "$r/etc/nginx/conf.d" "$r/usr/share/nginx/html" "$r/var/lib/nginx" "$r/run"
