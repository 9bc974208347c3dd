/*
 * IRIX CPR guide, Example 3-3 "Setting an Alarm in Callback", as printed
 * (no fix needed).
 */
extern int sock; /* file descriptor for socket */
catchCKPT()
{
    alarm(60);
    close(sock);
    alarm(0);
}
