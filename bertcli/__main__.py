from bertcli.cli import main

main()
