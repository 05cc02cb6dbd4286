%% Group fan-out for Erlang/OTP: three nodes on loopback, SUBSCRIBERS members
%% of one pg group spread over them, and a publisher on this node that sends
%% each message to every member with a loop over pg:get_members/1 (what an
%% Erlang program does without Manifold). Prints "name value unit", the
%% workload of bench/groups_bench.cpp. Run on node a with b and c up:
%%   erl -noshell -name bench_ga@127.4.0.21 -setcookie bench -pa DIR \
%%       -eval "bench_groups:main(['bench_gb@127.4.0.22', 'bench_gc@127.4.0.23']), halt()."
-module(bench_groups).
-export([main/1, start_pg/0, spawn_subscribers/3]).

-define(SUBSCRIBERS, 100000).
-define(PUBLISHES, 20).

main(Others) ->
    [true = net_kernel:connect_node(N) || N <- Others],
    [{module, _} = rpc:call(N, code, ensure_loaded, [?MODULE]) || N <- Others],
    Nodes = [node() | Others],
    [ok = rpc:call(N, ?MODULE, start_pg, []) || N <- Nodes],
    Runner = self(),
    Shares = [?SUBSCRIBERS div 3 + (if I < ?SUBSCRIBERS rem 3 -> 1; true -> 0 end) || I <- [0, 1, 2]],
    [ok = rpc:call(N, ?MODULE, spawn_subscribers, [Runner, Share, ?PUBLISHES])
     || {N, Share} <- lists:zip(Nodes, Shares)],
    wait_members(?SUBSCRIBERS),
    Msg = {binary:copy(<<"x">>, 48), 1},
    T0 = erlang:monotonic_time(microsecond),
    spawn(fun() -> [[P ! Msg || P <- pg:get_members(bench)] || _ <- lists:seq(1, ?PUBLISHES)] end),
    [receive done -> ok end || _ <- lists:seq(1, ?SUBSCRIBERS)],
    Seconds = (erlang:monotonic_time(microsecond) - T0) / 1.0e6,
    io:format("pg_send_loop ~.1f msg/s~n", [?SUBSCRIBERS * ?PUBLISHES / Seconds]),
    [rpc:call(N, init, stop, []) || N <- Others].

start_pg() ->
    {ok, _} = pg:start(pg),
    ok.

%% One join of all of a node's subscribers: pg copies a group's member list
%% on every join, so 100,000 single joins would take minutes.
spawn_subscribers(Runner, N, Publishes) ->
    Pids = [spawn(fun() -> receive_n(Runner, Publishes) end) || _ <- lists:seq(1, N)],
    pg:join(bench, Pids).

receive_n(Runner, 0) -> Runner ! done;
receive_n(Runner, K) -> receive _ -> receive_n(Runner, K - 1) end.

wait_members(N) ->
    case length(pg:get_members(bench)) of
        N -> ok;
        _ -> timer:sleep(10), wait_members(N)
    end.
