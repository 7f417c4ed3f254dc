# The HTTP keep-alive workload of the benchmarks (make bench figure 3, tests/bench/profile.sh):
# nginx in namespace A, wrk from B. Source after netns.sh; uses TMP, NS_A, NS_B, PYTHON.
# shellcheck shell=bash

NGINX_PID=
nginx_listening() {
	ns_a ss -Hltn "sport = :80" | grep -q LISTEN
}

# nginx_bench_start ADDR: nginx with its own configuration, files and logs under $TMP/nginx,
# listening on ADDR:80 in namespace A: one worker, keep-alive without a request limit, no access
# log (the workload is the requests), a page the size of nginx's own welcome page. 1 if it did
# not come up; nothing if it runs already.
nginx_bench_start() {
	[ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null && return 0
	local d=$TMP/nginx
	mkdir -p "$d/www" "$d/tmp"
	"$PYTHON" -c 'import sys; sys.stdout.write("<html><body>" + "pktlens bench " * 40 + "</body></html>\n")' \
		>"$d/www/index.html"
	cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	keepalive_requests 100000000;
	keepalive_timeout 120s;
	server {
		listen $1:80;
		root $d/www;
	}
}
EOF
	chmod -R a+rX "$d"
	bg_start "$TMP/nginx.log" ip netns exec "$NS_A" nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf"
	NGINX_PID=$BG_PID
	wait_for 10 nginx_listening || { log "nginx did not come up: $(tail -n 3 "$d/error.log")"; return 1; }
}

# wrk_run OUT ADDR SECS: HTTP/1.1 keep-alive GETs from B to nginx on ADDR for SECS seconds: 16
# connections, one wrk thread; wrk's report in OUT.
wrk_run() {
	ns_b timeout $((${3%.*} + 20)) wrk -t1 -c16 -d"${3}s" --timeout 2s "http://$2/" >"$1" 2>&1
}
