%% Distribution benchmarks for Erlang/OTP between two nodes on loopback, the
%% same workloads as bench/dist_bench.cpp, printed "name value unit".
%% Run on node a with node b already up:
%%   erl -noshell -name bench_ea@127.4.0.11 -setcookie bench -pa DIR \
%%       -eval "bench_dist:main('bench_eb@127.4.0.12'), halt()."
-module(bench_dist).
-export([main/1, main/2, sink/2, echo/0, noop/0, spawns_pipelined/2]).

main(B) -> main(B, 2000000).

%% N one-way messages; the other workloads shrink with N (bench/run.sh --quick).
main(B, N) ->
    true = net_kernel:connect_node(B),
    {module, _} = rpc:call(B, code, ensure_loaded, [?MODULE]),
    Scaled = fun(Full) -> max(1600, round(Full * N / 2000000)) end,
    one_way(B, N, 64, 1, "dist_one_way_64B"),
    one_way(B, N div 2, 1024, 1, "dist_one_way_1K"),
    one_way(B, N, 64, 16, "dist_one_way_64B_16senders"),
    pingpong(B, Scaled(20000)),
    calls(B, 1, Scaled(20000), "dist_call_1caller"),
    calls(B, 16, Scaled(5000), "dist_call_16callers"),
    spawns(B, 16, Scaled(100000)),
    spawns_pipelined(B, Scaled(100000)),
    rpc:call(B, init, stop, []).

report(Name, Value, Unit) -> io:format("~s ~.1f ~s~n", [Name, float(Value), Unit]).
now_us() -> erlang:monotonic_time(microsecond).

sink(Parent, N) -> Parent ! ready, sink_loop(Parent, N).
sink_loop(Parent, 0) -> Parent ! done;
sink_loop(Parent, K) -> receive _ -> sink_loop(Parent, K - 1) end.

%% Senders processes send N messages of Bytes bytes in all to one sink.
one_way(B, N, Bytes, Senders, Name) ->
    Bin = binary:copy(<<7>>, Bytes),
    Sink = spawn(B, ?MODULE, sink, [self(), N]),
    receive ready -> ok end,
    T0 = now_us(),
    %% The senders are fresh processes (as in the reference measurements), not
    %% the -eval process.
    [spawn(fun() -> send_n(Sink, {msg, Bin}, N div Senders + extra(S, N rem Senders)) end)
     || S <- lists:seq(0, Senders - 1)],
    receive done -> ok end,
    report(Name, N / ((now_us() - T0) / 1.0e6), "msg/s").

extra(S, Rem) when S < Rem -> 1;
extra(_, _) -> 0.

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
    percentiles("dist_pingpong", Samples).

%% The same percentiles as bench/dist_bench.cpp, of sorted samples.
percentiles(Prefix, Sorted) ->
    Len = length(Sorted),
    T = list_to_tuple(Sorted),
    [report(Prefix ++ "_" ++ Suffix, element(1 + trunc(Q * (Len - 1)), T), "us")
     || {Suffix, Q} <- [{"p10", 0.10}, {"p25", 0.25}, {"p50", 0.50}, {"p75", 0.75},
                        {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999}]].

calls(B, Callers, PerCaller, Name) ->
    Self = self(),
    T0 = now_us(),
    [spawn(fun() ->
               Lat = [begin
                          T = erlang:monotonic_time(nanosecond),
                          erpc:call(B, erlang, abs, [I]),
                          (erlang:monotonic_time(nanosecond) - T) / 1000
                      end || I <- lists:seq(1, PerCaller)],
               Self ! {called, Lat}
           end)
     || _ <- lists:seq(1, Callers)],
    Lats = lists:append([receive {called, L} -> L end || _ <- lists:seq(1, Callers)]),
    report(Name, Callers * PerCaller / ((now_us() - T0) / 1.0e6), "call/s"),
    case Callers of
        1 -> percentiles("dist_call_latency", lists:sort(Lats));
        _ -> ok
    end.

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

%% As ours: one process sends N spawn requests without waiting (OTP 23's
%% spawn_request/5), then takes the N spawn_reply messages.
spawns_pipelined(B, N) ->
    T0 = now_us(),
    Ids = [erlang:spawn_request(B, ?MODULE, noop, [], []) || _ <- lists:seq(1, N)],
    lists:foreach(fun(Id) -> receive {spawn_reply, Id, ok, _} -> ok end end, Ids),
    report("dist_spawn_pipelined", N / ((now_us() - T0) / 1.0e6), "spawn/s").
