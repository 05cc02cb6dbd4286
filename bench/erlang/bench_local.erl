%% Local process benchmarks for Erlang/OTP, the same workloads as
%% bench/runtime_bench.cpp, printed one result per line: "name value unit".
%% Run: erl -noshell +P 2000000 -pa DIR -eval 'bench_local:main([spawn]), halt().'
%%   or -eval 'bench_local:run_sized(ring, [10000, 100]), halt().'
-module(bench_local).
-export([main/1, run_sized/2, idle/0, sink/2, ring_node/2]).

main(Args) ->
    lists:foreach(fun run/1, Args).

run(spawn) -> spawn_idle(1000000);
run(send) -> local_send(5000000);
run(ring) -> ring(10000, 100);
run(pingpong) -> pingpong(100000).

%% The same workloads at the sizes bench/run.sh passes (--quick shrinks them).
run_sized(spawn, [N]) -> spawn_idle(N);
run_sized(send, [N]) -> local_send(N);
run_sized(ring, [N, M]) -> ring(N, M);
run_sized(pingpong, [N]) -> pingpong(N).

report(Name, Value, Unit) ->
    io:format("~s ~.1f ~s~n", [Name, float(Value), Unit]).

now_us() -> erlang:monotonic_time(microsecond).

%% Spawn N processes that wait in receive, from one process; memory is the
%% growth of erlang:memory(processes) per process.
idle() -> receive stop -> ok end.

spawn_idle(N) ->
    Parent = self(),
    Mem0 = erlang:memory(processes),
    T0 = now_us(),
    spawn(fun() ->
              Pids = [spawn(?MODULE, idle, []) || _ <- lists:seq(1, N)],
              wait_idle(),
              Parent ! {spawned, Pids}
          end),
    receive {spawned, Pids} -> ok end,
    T1 = now_us(),
    Mem1 = erlang:memory(processes),
    report("spawn_rate", N / ((T1 - T0) / 1.0e6), "spawn/s"),
    report("spawn_memory", (Mem1 - Mem0) / N, "B/proc"),
    [P ! stop || P <- Pids],
    ok.

%% Every spawned process has run to its receive once the run queues are empty.
wait_idle() ->
    case erlang:statistics(total_run_queue_lengths_all) of
        0 -> ok;
        _ -> timer:sleep(1), wait_idle()
    end.

%% One process sends N messages carrying a 64-byte binary to another.
sink(Parent, N) -> sink(Parent, N, 0).
sink(Parent, N, N) -> Parent ! done;
sink(Parent, N, K) -> receive {msg, _} -> sink(Parent, N, K + 1) end.

local_send(N) ->
    Bin = binary:copy(<<0>>, 64),
    Sink = spawn(?MODULE, sink, [self(), N]),
    T0 = now_us(),
    spawn(fun() -> send_n(Sink, {msg, Bin}, N) end),
    receive done -> ok end,
    T1 = now_us(),
    report("local_send_rate", N / ((T1 - T0) / 1.0e6), "msg/s").

send_n(_, _, 0) -> ok;
send_n(To, Msg, K) -> To ! Msg, send_n(To, Msg, K - 1).

%% A token passes M times round a ring of N processes (N*M hops).
ring_node(Next, Parent) ->
    receive
        {next, NewNext} -> ring_node(NewNext, Parent);
        {token, 0} -> Parent ! ring_done, ring_node(Next, Parent);
        {token, K} -> Next ! {token, K - 1}, ring_node(Next, Parent)
    end.

ring(N, M) ->
    Self = self(),
    First = spawn(?MODULE, ring_node, [undefined, Self]),
    Last = lists:foldl(fun(_, Next) -> spawn(?MODULE, ring_node, [Next, Self]) end, First, lists:seq(2, N)),
    %% Last was spawned last and points towards First's successors; close the loop.
    First ! {next, Last},
    T0 = now_us(),
    Last ! {token, N * M},
    receive ring_done -> ok end,
    T1 = now_us(),
    report("ring_hops", N * M / ((T1 - T0) / 1.0e6), "hops/s"),
    report("ring_ms", (T1 - T0) / 1000, "ms").

%% Local round trips, latency percentiles.
pingpong(N) ->
    Ponger = spawn(fun Loop() -> receive {ping, From} -> From ! pong, Loop() end end),
    Samples = lists:sort([begin
                              T = erlang:monotonic_time(nanosecond),
                              Ponger ! {ping, self()},
                              receive pong -> ok end,
                              (erlang:monotonic_time(nanosecond) - T) / 1000
                          end || _ <- lists:seq(1, N)]),
    report("local_pingpong_p50", lists:nth(N div 2, Samples), "us"),
    report("local_pingpong_p99", lists:nth(N * 99 div 100, Samples), "us").
