# The JACK clients' shared chores (clients/common/jack_client.c) that the
# programs' own tests cannot reach: closing a client after its server died,
# when libjack returns and when it hangs (made with --wrap).
ictal_add_test(test_jack_client LABELS jack TIMEOUT 120
               LIBS ictal_jack Threads::Threads)
target_link_options(test_jack_client PRIVATE "-Wl,--wrap=jack_client_close")
