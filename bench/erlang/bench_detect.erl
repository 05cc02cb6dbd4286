%% Failure detection of Erlang/OTP, for bench/erlang_detect.sh. Each node is
%% started with
%%   erl -detached -noshell -name bdet_N@127.4.61.N -setcookie bench -pa DIR \
%%       -run bench_detect start DIR bdet_1@127.4.61.1 ... bdet_5@127.4.61.5
%% and keeps three files in DIR, named after itself:
%%   NODE.pid   its OS pid, written first (for the script to signal it)
%%   NODE.log   one line per net_kernel:monitor_nodes/2 event, appended:
%%              "<wall clock ms> up|down <node> [<nodedown reason>]"
%%   NODE.view  the nodes it is connected to, rewritten after every event
%% At start it connects to every peer already up; global (connect_all) would
%% complete the mesh anyway.
-module(bench_detect).
-export([start/1]).

start([Dir | Peers]) ->
    Base = filename:join(Dir, atom_to_list(node())),
    write_atomic(Base ++ ".pid", [os:getpid(), $\n]),
    Self = self(),
    Watcher = spawn(fun() -> watch(Self, Base) end),
    receive {Watcher, ready} -> ok end,  % subscribed before the first nodeup
    [net_kernel:connect_node(P) || P <- [list_to_atom(S) || S <- Peers], P =/= node()],
    ok.

watch(Parent, Base) ->
    ok = net_kernel:monitor_nodes(true, [nodedown_reason]),
    {ok, Log} = file:open(Base ++ ".log", [append, raw]),
    write_view(Base),
    Parent ! {self(), ready},
    loop(Log, Base).

loop(Log, Base) ->
    receive
        {Event, Node, Info} when Event =:= nodeup; Event =:= nodedown ->
            Ms = os:system_time(millisecond),
            Reason = case proplists:get_value(nodedown_reason, Info) of
                         undefined -> "";
                         R -> io_lib:format(" ~w", [R])
                     end,
            What = case Event of nodeup -> "up"; nodedown -> "down" end,
            ok = file:write(Log, io_lib:format("~b ~s ~s~s~n", [Ms, What, Node, Reason])),
            write_view(Base),
            loop(Log, Base)
    end.

write_view(Base) ->
    write_atomic(Base ++ ".view", [[atom_to_list(N), $\n] || N <- lists:sort(nodes())]).

%% Readers never see a half-written file.
write_atomic(File, Data) ->
    ok = file:write_file(File ++ ".tmp", Data),
    ok = file:rename(File ++ ".tmp", File).
