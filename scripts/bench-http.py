"""The client side of scripts/bench-http: plain HTTP/1.1 from the standard
library, so the numbers are the server's, not a client library's."""

import asyncio
import http.client
import json
import os
import sys
import time

HOST = "127.0.0.1"
PORT = int(sys.argv[1])
SERVER_PID = int(sys.argv[2])
JSON = {"Content-Type": "application/json"}


def start_and_wait(connection, count):
    latencies = []
    body = json.dumps({"orchestration": "hello_sequence", "input": ["Tokyo"]})
    for _ in range(count):
        began = time.perf_counter()
        connection.request("POST", "/api/instances?wait_ms=10000", body=body, headers=JSON)
        response = connection.getresponse()
        answer = response.read()
        assert response.status == 200, (response.status, answer)
        latencies.append((time.perf_counter() - began) * 1000)
    return sorted(latencies)


def server_cpu_seconds():
    fields = open(f"/proc/{SERVER_PID}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def long_poll(instance_id):
    reader, writer = await asyncio.open_connection(HOST, PORT)
    writer.write(
        f"GET /api/instances/{instance_id}?wait_ms=120000 HTTP/1.1\r\n"
        f"Host: {HOST}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return b'"completed"' in answer


async def waiters(connection, count):
    request = json.dumps({"orchestration": "approval", "input": {"item": "pen", "amount": 1, "timeout_secs": 3600}})
    ids = []
    for _ in range(count):
        connection.request("POST", "/api/instances", body=request, headers=JSON)
        ids.append(json.loads(connection.getresponse().read())["id"])
    polls = [asyncio.create_task(long_poll(i)) for i in ids]
    await asyncio.sleep(3)
    before, began = server_cpu_seconds(), time.perf_counter()
    await asyncio.sleep(10)
    print(f"{count} long polls waiting: the server used {server_cpu_seconds() - before:.2f} s of CPU in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    for i in ids:
        connection.request("POST", f"/api/instances/{i}/events/approval", body='{"approved": true, "by": "dana"}', headers=JSON)
        response = connection.getresponse()
        response.read()
        assert response.status == 202
    answered = await asyncio.gather(*polls)
    print(f"approvals raised: {sum(answered)} of {count} long polls answered 'completed' in {time.perf_counter() - began:.2f} s")


connection = http.client.HTTPConnection(HOST, PORT)
start_and_wait(connection, 20)  # warm up
latencies = start_and_wait(connection, 500)
pick = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))]
print(f"start+wait hello_sequence, 500 in sequence on one connection: p50 {pick(0.5):.2f} ms, p90 {pick(0.9):.2f} ms, p99 {pick(0.99):.2f} ms")
before, began = server_cpu_seconds(), time.perf_counter()
time.sleep(5)
print(f"idle: the server used {server_cpu_seconds() - before:.2f} s of CPU in {time.perf_counter() - began:.1f} s")
asyncio.run(waiters(connection, 1000))
