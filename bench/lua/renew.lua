-- wrk: renew one registered instance over and over (the heartbeat path).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "zone=sh001&env=bench&appid=bench.renew&hostname=h1"
