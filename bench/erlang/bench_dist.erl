%% Distribution benchmarks for Erlang/OTP between two nodes on loopback, the
%% same workloads as bench/dist_bench.cpp, printed "name value unit".
%% Run on node a with node b already up:
%%   erl -noshell -name bench_ea@127.4.0.11 -setcookie bench -pa DIR \
%%       -eval "bench_dist:main('bench_eb@127.4.0.12'), halt()."
-module(bench_dist).
-export([main/1, sink/2, echo/0, noop/0]).

main(B) ->
    true = net_kernel:connect_node(B),
    {module, _} = rpc:call(B, code, ensure_loaded, [?MODULE]),
    one_way(B, 2000000),
    pingpong(B, 20000),
    calls(B, 1, 20000, "dist_call_1caller"),
    calls(B, 16, 5000, "dist_call_16callers"),
    spawns(B, 16, 100000),
    rpc:call(B, init, stop, []).

report(Name, Value, Unit) -> io:format("~s ~.1f ~s~n", [Name, float(Value), Unit]).
now_us() -> erlang:monotonic_time(microsecond).

sink(Parent, N) -> Parent ! ready, sink_loop(Parent, N).
sink_loop(Parent, 0) -> Parent ! done;
sink_loop(Parent, K) -> receive _ -> sink_loop(Parent, K - 1) end.

one_way(B, N) ->
    Bin = binary:copy(<<7>>, 64),
    Sink = spawn(B, ?MODULE, sink, [self(), N]),
    receive ready -> ok end,
    T0 = now_us(),
    %% The sender is a fresh process (as in the reference measurements), not
    %% the -eval process.
    spawn(fun() -> send_n(Sink, {msg, Bin}, N) end),
    receive done -> ok end,
    report("dist_one_way_64B", N / ((now_us() - T0) / 1.0e6), "msg/s").

send_n(_, _, 0) -> ok;
send_n(To, Msg, K) -> To ! Msg, send_n(To, Msg, K - 1).

echo() -> receive {From, X} -> From ! X, echo() end.

pingpong(B, N) ->
    Echo = spawn(B, ?MODULE, echo, []),
    Samples = lists:sort([begin
                              T = erlang:monotonic_time(nanosecond),
                              Echo ! {self(), I},
                              receive I -> ok end,
                              (erlang:monotonic_time(nanosecond) - T) / 1000
                          end || I <- lists:seq(1, N)]),
    report("dist_pingpong_p50", lists:nth(N div 2, Samples), "us"),
    report("dist_pingpong_p99", lists:nth(N * 99 div 100, Samples), "us").

calls(B, Callers, PerCaller, Name) ->
    Self = self(),
    T0 = now_us(),
    [spawn(fun() -> [erpc:call(B, erlang, abs, [I]) || I <- lists:seq(1, PerCaller)], Self ! called end)
     || _ <- lists:seq(1, Callers)],
    [receive called -> ok end || _ <- lists:seq(1, Callers)],
    report(Name, Callers * PerCaller / ((now_us() - T0) / 1.0e6), "call/s").

noop() -> ok.

%% As ours: 16 processes, each starting remote processes one after another
%% (OTP 25's spawn/4 to a remote node waits for the spawn reply).
spawns(B, Spawners, N) ->
    Self = self(),
    T0 = now_us(),
    [spawn(fun() -> [spawn(B, ?MODULE, noop, []) || _ <- lists:seq(1, N div Spawners)], Self ! spawned end)
     || _ <- lists:seq(1, Spawners)],
    [receive spawned -> ok end || _ <- lists:seq(1, Spawners)],
    report("dist_spawn_16spawners", N / ((now_us() - T0) / 1.0e6), "spawn/s").
