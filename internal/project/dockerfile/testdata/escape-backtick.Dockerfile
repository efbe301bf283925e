# escape=`
FROM python:3.12-windowsservercore
RUN pip install `
    flask `
    gunicorn
WORKDIR C:\app
