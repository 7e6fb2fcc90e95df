-- wrk: renew.lua with a bearer token (bench/tokens.sh): the heartbeat path of a node with tokens.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Bearer w-bench-0123456789abcdef0123456789abcdef"
wrk.body = "zone=sh001&env=bench&appid=bench.renew&hostname=h1"
